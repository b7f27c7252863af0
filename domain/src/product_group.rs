//! Product groups of GIS MT (`productGroupId`), each with its code and names.

use std::fmt;

macro_rules! product_groups {
    ($($variant:ident = $id:literal, $code:literal, $en:literal, $ru:literal;)*) => {
        /// A product group as GIS MT numbers it; many API calls and every document need it.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        #[repr(u8)]
        pub enum ProductGroup {
            $($variant = $id,)*
        }

        impl ProductGroup {
            pub const ALL: &'static [ProductGroup] = &[$(ProductGroup::$variant,)*];

            /// The True API `productGroupId`.
            pub fn id(self) -> u8 {
                self as u8
            }

            pub fn from_id(id: u8) -> Option<ProductGroup> {
                match id {
                    $($id => Some(ProductGroup::$variant),)*
                    _ => None,
                }
            }

            /// The True API `pg` code, such as `milk`.
            pub fn code(self) -> &'static str {
                match self {
                    $(ProductGroup::$variant => $code,)*
                }
            }

            pub fn from_code(code: &str) -> Option<ProductGroup> {
                match code {
                    $($code => Some(ProductGroup::$variant),)*
                    _ => None,
                }
            }

            pub fn name_en(self) -> &'static str {
                match self {
                    $(ProductGroup::$variant => $en,)*
                }
            }

            pub fn name_ru(self) -> &'static str {
                match self {
                    $(ProductGroup::$variant => $ru,)*
                }
            }

            /// The name staff read, in `lang`.
            pub fn name(self, lang: crate::Lang) -> &'static str {
                match lang {
                    crate::Lang::En => self.name_en(),
                    crate::Lang::Ru => self.name_ru(),
                }
            }
        }
    };
}

product_groups! {
    LightIndustry = 1, "lp", "Light industry", "Товары лёгкой промышленности";
    Shoes = 2, "shoes", "Shoes", "Обувь";
    Tobacco = 3, "tobacco", "Tobacco", "Табачная продукция";
    Perfumery = 4, "perfumery", "Perfume", "Духи и туалетная вода";
    Tires = 5, "tires", "Tires", "Шины и покрышки";
    Electronics = 6, "electronics", "Cameras and flashes", "Фотоаппараты и лампы-вспышки";
    Pharma = 7, "pharma", "Medicines", "Лекарственные препараты";
    Milk = 8, "milk", "Dairy", "Молочная продукция";
    Bicycle = 9, "bicycle", "Bicycles", "Велосипеды";
    Wheelchairs = 10, "wheelchairs", "Wheelchairs", "Кресла-коляски";
    Alcohol = 11, "alcohol", "Alcohol", "Алкогольная продукция";
    OtherTobacco = 12, "otp", "Other tobacco products", "Альтернативная табачная продукция";
    Water = 13, "water", "Packaged water", "Упакованная вода";
    Furs = 14, "furs", "Fur goods", "Товары из натурального меха";
    Beer = 15, "beer", "Beer", "Пиво и пивные напитки";
    NicotineProducts = 16, "ncp", "Nicotine products", "Никотиносодержащая продукция";
    Supplements = 17, "bio", "Dietary supplements", "Биологически активные добавки";
    Antiseptics = 19, "antiseptic", "Antiseptics", "Антисептики";
    PetFood = 20, "petfood", "Pet food", "Корма для животных";
    Seafood = 21, "seafood", "Seafood", "Морепродукты";
    NonAlcoholicBeer = 22, "nabeer", "Non-alcoholic beer", "Безалкогольное пиво";
    SoftDrinks = 23, "softdrinks", "Soft drinks", "Соковая продукция и безалкогольные напитки";
    Meat = 25, "meat", "Meat", "Мясная продукция";
    VetPharma = 26, "vetpharma", "Veterinary medicines", "Ветеринарные препараты";
    Toys = 27, "toys", "Toys", "Игры и игрушки";
    Radio = 28, "radio", "Radio electronics", "Радиоэлектронная продукция";
    Titan = 31, "titan", "Titanium metal products", "Титановая металлопродукция";
    Conserve = 32, "conserve", "Canned food", "Консервированные продукты";
    VegetableOil = 33, "vegetableoil", "Vegetable oil", "Растительные масла";
    OpticFiber = 34, "opticfiber", "Optical fibre", "Оптоволокно";
    Chemistry = 35, "chemistry", "Household chemicals", "Косметика и бытовая химия";
    Books = 36, "books", "Printed books", "Печатная продукция";
    Grocery = 37, "grocery", "Grocery", "Бакалея";
    PharmaRaw = 38, "pharmaraw", "Pharmaceutical raw materials", "Фармацевтическое сырьё";
    Construction = 39, "construction", "Building materials", "Строительные материалы";
    Fire = 40, "fire", "Fire safety", "Пиротехника и средства пожарной безопасности";
    Heater = 41, "heater", "Heating devices", "Отопительные приборы";
    CableRaw = 42, "cableraw", "Cable products", "Кабельная продукция";
    AutoFluids = 43, "autofluids", "Motor oils and fluids", "Моторные масла";
    Polymer = 44, "polymer", "Polymer pipes", "Полимерные трубы";
    Sweets = 45, "sweets", "Confectionery", "Сладости и кондитерские изделия";
    CarParts = 48, "carparts", "Car parts", "Автозапчасти";
    FursLight = 49, "furslp", "Fur clothing", "Меховые изделия";
    NicotineDevices = 50, "nicotindev", "E-cigarettes", "Электронные системы доставки никотина";
    Gadgets = 51, "gadgets", "Gadgets", "Смартфоны и гаджеты";
    Frozen = 52, "frozen", "Frozen food", "Замороженная продукция";
    Fertilizers = 53, "fertilizers", "Fertilizers", "Удобрения";
    Homeware = 54, "homeware", "Homeware", "Товары для дома";
    Pyrotechnics = 59, "pyrotechnics", "Pyrotechnics", "Пиротехнические изделия";
}

impl fmt::Display for ProductGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_codes_round_trip() {
        for &pg in ProductGroup::ALL {
            assert_eq!(ProductGroup::from_id(pg.id()), Some(pg));
            assert_eq!(ProductGroup::from_code(pg.code()), Some(pg));
        }
        assert_eq!(ProductGroup::Milk.id(), 8);
        assert_eq!(ProductGroup::NicotineDevices.code(), "nicotindev");
        assert_eq!(ProductGroup::from_id(18), None);
    }
}
