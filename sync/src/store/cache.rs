//! What the validator looks up while a scan waits: cached statuses, block lists, the catalog,
//! the tasks and the orders to pick, plus the figures `tally db stats` shows.

use rusqlite::OptionalExtension;
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{AcceptanceTask, ExpectedBox, QuantityLine, ShipmentOrder};
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{BlockHit, CisStatus, CodeStatus, Inn, Timestamp};

use super::codec::{
    Flags, date_of_day, gtin_column, parent_from_column, parse_iso_date, sscc_column,
};
use super::{Reader, Result, StoreError, file_len};

/// What the catalog says about a GTIN.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CatalogItem {
    pub gtin: Gtin,
    pub name: String,
    pub product_group: Option<ProductGroup>,
    /// How the item is counted (`pcs`, `kg`, ...), when the hub said.
    pub unit: Option<String>,
}

/// Someone who may sign in on this terminal, as the hub's `operators` feed said.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StoredOperator {
    pub id: String,
    pub name: String,
    pub pin_salt: String,
    pub pin_sha256: String,
    pub badge: Option<String>,
    pub supervisor: bool,
}

impl StoredOperator {
    /// Whether `pin` is this operator's PIN.
    pub fn pin_matches(&self, pin: &str) -> bool {
        tally_wire::pin_digest(&self.pin_salt, pin) == self.pin_sha256
    }
}

/// An acceptance document the hub assigned to this terminal, with what it should contain.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Task {
    pub id: String,
    /// The document's number as the sender wrote it.
    pub number: String,
    pub sender_inn: Inn,
    pub date: Gs1Date,
    /// The product group the document is for, when the hub said.
    pub product_group: Option<ProductGroup>,
    pub received_at: Timestamp,
    /// Unit codes expected outside any box.
    pub loose_units: Vec<Ki>,
    pub boxes: Vec<TaskBox>,
    /// Goods expected by count (1C's deliveries), in the task's order.
    pub lines: Vec<QuantityLine>,
}

impl Task {
    /// The task as the acceptance state machine takes it.
    pub fn acceptance_task(&self) -> AcceptanceTask {
        AcceptanceTask {
            id: self.id.clone(),
            number: self.number.clone(),
            sender: Some(self.sender_inn),
            product_group: self.product_group,
            units: self.loose_units.clone(),
            boxes: self
                .boxes
                .iter()
                .map(|b| ExpectedBox {
                    sscc: b.sscc,
                    children: b.units.clone(),
                })
                .collect(),
            lines: self.lines.clone(),
        }
    }
}

/// A box the document lists, with the unit codes it should hold.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskBox {
    pub sscc: Sscc,
    pub units: Vec<Ki>,
}

/// A line of the task list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskSummary {
    pub id: String,
    pub number: String,
    pub sender_inn: Inn,
    pub date: Gs1Date,
    /// Every expected unit, loose, boxed or by quantity.
    pub units: u64,
    pub boxes: u64,
}

/// A customer's order to pick, as the hub's `orders` feed said.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Order {
    pub id: String,
    /// The order's number in the books.
    pub number: String,
    /// Whom the goods go to, when the books said.
    pub receiver_inn: Option<Inn>,
    pub date: Gs1Date,
    pub product_group: Option<ProductGroup>,
    pub received_at: Timestamp,
    /// Codes the order names one by one.
    pub units: Vec<Ki>,
    /// Goods ordered by count, in the order's order.
    pub lines: Vec<QuantityLine>,
}

impl Order {
    /// The order as the shipment state machine takes it.
    pub fn shipment_order(&self) -> ShipmentOrder {
        ShipmentOrder {
            id: self.id.clone(),
            number: self.number.clone(),
            receiver: self.receiver_inn,
            units: self.units.clone(),
            lines: self.lines.clone(),
        }
    }
}

/// A line of the order list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderSummary {
    pub id: String,
    pub number: String,
    pub receiver_inn: Option<Inn>,
    pub date: Gs1Date,
    /// Every unit ordered, named or by quantity.
    pub units: u64,
}

/// The replica's vital figures.
#[derive(Clone, PartialEq, Debug)]
pub struct Stats {
    pub schema_version: i64,
    pub status_rows: u64,
    pub owners: u64,
    /// Size of the database file (the WAL not included).
    pub file_bytes: u64,
    pub wal_bytes: u64,
    /// `file_bytes / status_rows`: the status cache dominates the file.
    pub bytes_per_code: Option<f64>,
    pub statuses_refreshed_at: Option<Timestamp>,
    pub cache_age_ms: Option<i64>,
    pub last_sync: Option<Timestamp>,
    pub open_operations: u64,
    pub queue_pending: u64,
    pub queue_total: u64,
}

fn corrupt(table: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.into(),
    }
}

fn sscc_from_column(table: &'static str, value: i64) -> Result<Sscc> {
    u64::try_from(value)
        .ok()
        .and_then(Sscc::from_value)
        .ok_or_else(|| corrupt(table, format!("{value} is not an SSCC")))
}

fn ki_from_column(table: &'static str, key: &[u8]) -> Result<Ki> {
    Ki::from_key(key).ok_or_else(|| corrupt(table, "ki is not a КИ key"))
}

fn inn_from_column(table: &'static str, text: &str) -> Result<Inn> {
    Inn::parse(text).ok_or_else(|| corrupt(table, format!("{text:?} is not an INN")))
}

fn group_from_column(id: Option<i64>) -> Option<ProductGroup> {
    id.and_then(|id| u8::try_from(id).ok())
        .and_then(ProductGroup::from_id)
}

fn date_from_column(table: &'static str, text: &str) -> Result<Gs1Date> {
    parse_iso_date(text).ok_or_else(|| corrupt(table, format!("{text:?} is not a date")))
}

pub(crate) const STATUS_SQL: &str = "SELECT s.flags, o.inn, s.parent, s.expiry, s.price
     FROM statuses AS s LEFT JOIN owners AS o ON o.id = s.owner
     WHERE s.ki = ?1";

const LABEL_STATUS_SQL: &str = "SELECT l.flags, o.inn, l.parent, NULL, NULL
     FROM label_statuses AS l LEFT JOIN owners AS o ON o.id = l.owner
     WHERE l.sscc = ?1";

/// What one of this terminal's finished operations did to a code (see
/// [`Store::put_local_statuses`](super::Store::put_local_statuses)).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LocalStatus {
    pub status: CisStatus,
    pub owner: Option<Inn>,
    pub at: Timestamp,
}

impl Reader {
    /// This terminal's own word on a code, when a finished operation changed it.
    pub fn local_status(&self, ki: &Ki) -> Result<Option<LocalStatus>> {
        let row: Option<(i64, Option<String>, i64)> = self
            .conn
            .prepare_cached("SELECT status, owner, at FROM local_statuses WHERE ki = ?1")?
            .query_row([ki.key().as_bytes()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        row.map(|(status, owner, at)| {
            let status = u8::try_from(status)
                .ok()
                .and_then(CisStatus::from_number)
                .ok_or_else(|| corrupt("local_statuses", format!("status {status}")))?;
            let owner = owner
                .map(|inn| inn_from_column("local_statuses", &inn))
                .transpose()?;
            Ok(LocalStatus {
                status,
                owner,
                at: Timestamp(at),
            })
        })
        .transpose()
    }

    /// The units the replica holds as `owner`'s and in stock (in circulation, not on their
    /// way anywhere), with what this terminal's own operations did since `synced` (the last
    /// sync) laid over them: a unit accepted here is stock, one sold, shipped or written off
    /// here is not. Sorted. What an inventory of the whole warehouse expects to find.
    pub fn stock_of(&self, owner: &Inn, synced: Option<Timestamp>) -> Result<Vec<Ki>> {
        let mut stock = std::collections::BTreeSet::new();
        let mut rows = self.conn.prepare_cached(
            "SELECT s.ki FROM statuses AS s JOIN owners AS o ON o.id = s.owner WHERE o.inn = ?1",
        )?;
        for key in rows.query_map([owner.as_str()], |row| row.get::<_, Vec<u8>>(0))? {
            let Some(ki) = Ki::from_key(&key?) else {
                continue;
            };
            if self
                .status(&ki)?
                .is_some_and(|s| tally_domain::operation::inventory::in_stock(&s))
            {
                stock.insert(ki);
            }
        }
        let mut local = self
            .conn
            .prepare_cached("SELECT ki, status, owner FROM local_statuses WHERE at > ?1")?;
        let since = synced.map_or(i64::MIN, Timestamp::millis);
        let changed = local.query_map([since], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in changed {
            let (key, status, local_owner) = row?;
            let Some(ki) = Ki::from_key(&key) else {
                continue;
            };
            let in_circulation = u8::try_from(status)
                .ok()
                .and_then(CisStatus::from_number)
                .is_some_and(|s| {
                    matches!(s, CisStatus::Introduced | CisStatus::IntroducedReturned)
                });
            if in_circulation && local_owner.as_deref() == Some(owner.as_str()) {
                stock.insert(ki);
            } else if !in_circulation {
                stock.remove(&ki);
            }
        }
        Ok(stock.into_iter().collect())
    }

    /// The cached status of a code; `None` when the hub never sent it.
    pub fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>> {
        let key = ki.key();
        self.status_row(STATUS_SQL, key.as_bytes(), "statuses", &|| ki.to_string())
    }

    /// When this terminal took the unit out of a box, if it did (schema v7).
    pub fn local_unboxed(&self, ki: &Ki) -> Result<Option<Timestamp>> {
        Ok(self
            .conn
            .prepare_cached("SELECT at FROM local_unboxed WHERE ki = ?1")?
            .query_row([ki.key().as_bytes()], |row| row.get(0))
            .optional()?
            .map(Timestamp))
    }

    /// What GIS MT says of a box or pallet label, as the hub's status feed brought it.
    pub fn label_status(&self, sscc: Sscc) -> Result<Option<CodeStatus>> {
        self.status_row(
            LABEL_STATUS_SQL,
            sscc_column(sscc),
            "label_statuses",
            &|| sscc.to_string(),
        )
    }

    /// One row of `statuses` or `label_statuses`: the queries give the same columns.
    fn status_row(
        &self,
        sql: &str,
        key: impl rusqlite::ToSql,
        table: &'static str,
        what: &dyn Fn() -> String,
    ) -> Result<Option<CodeStatus>> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let mut rows = statement.query([key])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let flags: i64 = row.get(0)?;
        let flags = Flags::unpack(flags)
            .ok_or_else(|| corrupt(table, format!("flags {flags:#x} of {}", what())))?;
        let owner = row
            .get_ref(1)?
            .as_str_or_null()?
            .map(|inn| inn_from_column("owners", inn))
            .transpose()?;
        let parent = parent_from_column(row.get_ref(2)?).map_err(|e| corrupt(table, e))?;
        let max_retail_price = row
            .get::<_, Option<i64>>(4)?
            .map(|p| u32::try_from(p).map_err(|_| corrupt(table, format!("price {p}"))))
            .transpose()?;
        Ok(Some(CodeStatus {
            status: flags.status,
            status_ex: flags.status_ex,
            owner,
            product_group: flags.product_group,
            package_type: flags.package_type,
            parent,
            expiry: row.get::<_, Option<i64>>(3)?.map(date_of_day),
            max_retail_price,
            blocked: flags.blocked,
        }))
    }

    /// Whether a block list holds this item: the code itself (when there is one), its series
    /// (GTIN + batch, when the code carries a batch) or its GTIN. The most specific hit wins.
    pub fn block_hit(
        &self,
        ki: Option<&Ki>,
        gtin: Gtin,
        batch: Option<&str>,
    ) -> Result<Option<BlockHit>> {
        if let Some(ki) = ki {
            let listed = self
                .conn
                .prepare_cached("SELECT 1 FROM blocked_codes WHERE ki = ?1")?
                .exists([ki.key().as_bytes()])?;
            if listed {
                return Ok(Some(BlockHit::Code));
            }
        }
        let gtin_value = gtin_column(gtin);
        if let Some(batch) = batch {
            let listed = self
                .conn
                .prepare_cached("SELECT 1 FROM blocked_series WHERE gtin = ?1 AND batch = ?2")?
                .exists(rusqlite::params![gtin_value, batch])?;
            if listed {
                return Ok(Some(BlockHit::Series));
            }
        }
        let listed = self
            .conn
            .prepare_cached("SELECT 1 FROM blocked_gtins WHERE gtin = ?1")?
            .exists([gtin_value])?;
        Ok(listed.then_some(BlockHit::Gtin(gtin)))
    }

    pub fn catalog_item(&self, gtin: Gtin) -> Result<Option<CatalogItem>> {
        let row: Option<(String, Option<i64>, Option<String>)> = self
            .conn
            .prepare_cached("SELECT name, product_group, unit FROM catalog WHERE gtin = ?1")?
            .query_row([gtin_column(gtin)], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        Ok(row.map(|(name, group, unit)| CatalogItem {
            gtin,
            name,
            product_group: group_from_column(group),
            unit,
        }))
    }

    /// Everyone the hub lets sign in here, by name.
    pub fn operators(&self) -> Result<Vec<StoredOperator>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, name, pin_salt, pin_sha256, badge, supervisor FROM operators ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(StoredOperator {
                id: row.get(0)?,
                name: row.get(1)?,
                pin_salt: row.get(2)?,
                pin_sha256: row.get(3)?,
                badge: row.get(4)?,
                supervisor: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A task with everything it expects; `None` when the hub never sent it.
    pub fn task(&self, id: &str) -> Result<Option<Task>> {
        type Head = (String, String, String, Option<i64>, i64);
        let head: Option<Head> = self
            .conn
            .prepare_cached(
                "SELECT number, sender_inn, date, product_group, received_at
                 FROM tasks WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .optional()?;
        let Some((number, sender_inn, date, product_group, received_at)) = head else {
            return Ok(None);
        };
        let mut boxes = Vec::new();
        {
            let mut statement = self
                .conn
                .prepare_cached("SELECT sscc FROM task_boxes WHERE task_id = ?1 ORDER BY sscc")?;
            let mut rows = statement.query([id])?;
            while let Some(row) = rows.next()? {
                boxes.push(TaskBox {
                    sscc: sscc_from_column("task_boxes", row.get(0)?)?,
                    units: Vec::new(),
                });
            }
        }
        let mut loose_units = Vec::new();
        let mut statement = self
            .conn
            .prepare_cached("SELECT ki, sscc FROM task_units WHERE task_id = ?1 ORDER BY ki")?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            let ki = ki_from_column("task_units", row.get_ref(0)?.as_blob()?)?;
            match row.get::<_, Option<i64>>(1)? {
                None => loose_units.push(ki),
                Some(value) => {
                    let sscc = sscc_from_column("task_units", value)?;
                    let task_box = boxes
                        .iter_mut()
                        .find(|b| b.sscc == sscc)
                        .ok_or_else(|| corrupt("task_units", format!("box {sscc} not listed")))?;
                    task_box.units.push(ki);
                }
            }
        }
        let mut lines = Vec::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT gtin, quantity FROM task_lines WHERE task_id = ?1 ORDER BY position",
        )?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            let gtin = u64::try_from(row.get::<_, i64>(0)?)
                .ok()
                .and_then(Gtin::from_value)
                .ok_or_else(|| corrupt("task_lines", "not a GTIN".to_owned()))?;
            let quantity = u32::try_from(row.get::<_, i64>(1)?)
                .map_err(|_| corrupt("task_lines", "not a quantity".to_owned()))?;
            lines.push(QuantityLine { gtin, quantity });
        }
        Ok(Some(Task {
            id: id.to_owned(),
            number,
            sender_inn: inn_from_column("tasks", &sender_inn)?,
            date: date_from_column("tasks", &date)?,
            product_group: group_from_column(product_group),
            received_at: Timestamp(received_at),
            loose_units,
            boxes,
            lines,
        }))
    }

    /// An order to pick with everything it asks for; `None` when the hub never sent it (or
    /// withdrew it).
    pub fn order(&self, id: &str) -> Result<Option<Order>> {
        type Head = (String, Option<String>, String, Option<i64>, i64);
        let head: Option<Head> = self
            .conn
            .prepare_cached(
                "SELECT number, receiver_inn, date, product_group, received_at
                 FROM orders WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .optional()?;
        let Some((number, receiver_inn, date, product_group, received_at)) = head else {
            return Ok(None);
        };
        let mut units = Vec::new();
        let mut statement = self
            .conn
            .prepare_cached("SELECT ki FROM order_units WHERE order_id = ?1 ORDER BY ki")?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            units.push(ki_from_column("order_units", row.get_ref(0)?.as_blob()?)?);
        }
        let mut lines = Vec::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT gtin, quantity FROM order_lines WHERE order_id = ?1 ORDER BY position",
        )?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            let gtin = u64::try_from(row.get::<_, i64>(0)?)
                .ok()
                .and_then(Gtin::from_value)
                .ok_or_else(|| corrupt("order_lines", "not a GTIN".to_owned()))?;
            let quantity = u32::try_from(row.get::<_, i64>(1)?)
                .map_err(|_| corrupt("order_lines", "not a quantity".to_owned()))?;
            lines.push(QuantityLine { gtin, quantity });
        }
        Ok(Some(Order {
            id: id.to_owned(),
            number,
            receiver_inn: receiver_inn
                .as_deref()
                .map(|inn| inn_from_column("orders", inn))
                .transpose()?,
            date: date_from_column("orders", &date)?,
            product_group: group_from_column(product_group),
            received_at: Timestamp(received_at),
            units,
            lines,
        }))
    }

    /// Every order to pick, oldest document first.
    pub fn orders(&self) -> Result<Vec<OrderSummary>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT o.id, o.number, o.receiver_inn, o.date,
                    (SELECT count(*) FROM order_units AS u WHERE u.order_id = o.id)
                    + (SELECT coalesce(sum(quantity), 0) FROM order_lines AS l
                       WHERE l.order_id = o.id)
             FROM orders AS o ORDER BY o.date, o.id",
        )?;
        let mut rows = statement.query([])?;
        let mut orders = Vec::new();
        while let Some(row) = rows.next()? {
            orders.push(OrderSummary {
                id: row.get(0)?,
                number: row.get(1)?,
                receiver_inn: row
                    .get_ref(2)?
                    .as_str_or_null()?
                    .map(|inn| inn_from_column("orders", inn))
                    .transpose()?,
                date: date_from_column("orders", row.get_ref(3)?.as_str()?)?,
                units: row.get::<_, i64>(4)?.unsigned_abs(),
            });
        }
        Ok(orders)
    }

    /// Every task, oldest document first.
    pub fn tasks(&self) -> Result<Vec<TaskSummary>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT t.id, t.number, t.sender_inn, t.date,
                    (SELECT count(*) FROM task_units AS u WHERE u.task_id = t.id)
                    + (SELECT coalesce(sum(quantity), 0) FROM task_lines AS l
                       WHERE l.task_id = t.id),
                    (SELECT count(*) FROM task_boxes AS b WHERE b.task_id = t.id)
             FROM tasks AS t ORDER BY t.date, t.id",
        )?;
        let mut rows = statement.query([])?;
        let mut tasks = Vec::new();
        while let Some(row) = rows.next()? {
            tasks.push(TaskSummary {
                id: row.get(0)?,
                number: row.get(1)?,
                sender_inn: inn_from_column("tasks", row.get_ref(2)?.as_str()?)?,
                date: date_from_column("tasks", row.get_ref(3)?.as_str()?)?,
                units: row.get::<_, i64>(4)?.unsigned_abs(),
                boxes: row.get::<_, i64>(5)?.unsigned_abs(),
            });
        }
        Ok(tasks)
    }

    /// The replica's figures at `now`. Counting the status cache reads the whole table: this
    /// is for support and benchmarks, not for every screen.
    pub fn stats(&self, now: Timestamp) -> Result<Stats> {
        let count = |sql: &str| -> Result<u64> {
            let n: i64 = self
                .conn
                .prepare_cached(sql)?
                .query_row([], |row| row.get(0))?;
            Ok(n.unsigned_abs())
        };
        let status_rows = count("SELECT count(*) FROM statuses")?;
        let file_bytes = file_len(&self.path)?;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let statuses_refreshed_at = self.statuses_refreshed_at()?;
        Ok(Stats {
            schema_version: self.schema_version()?,
            status_rows,
            owners: count("SELECT count(*) FROM owners")?,
            file_bytes,
            wal_bytes: file_len(std::path::Path::new(&wal))?,
            bytes_per_code: (status_rows > 0).then(|| file_bytes as f64 / status_rows as f64),
            statuses_refreshed_at,
            cache_age_ms: statuses_refreshed_at.map(|at| now.0 - at.0),
            last_sync: self.last_sync()?,
            open_operations: count("SELECT count(*) FROM operations")?,
            queue_pending: self.queue_depth()?,
            queue_total: count("SELECT count(*) FROM queue")?,
        })
    }
}
