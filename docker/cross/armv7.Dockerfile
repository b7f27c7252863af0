# Build image for cross (Cross.toml): Debian bookworm with the armhf toolchain and the libraries
# that the linuxkms Slint backend links (libinput, libudev, libxkbcommon), as multiarch -dev packages
# (bookworm has libinput 1.22; the linuxkms backend needs >= 1.21). qemu-user runs `cross test`
# through the runner in .cargo/config.toml, the same one the container-free path uses.
FROM debian:bookworm
RUN dpkg --add-architecture armhf \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates pkg-config gcc g++ libc6-dev \
      gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross \
      libudev-dev:armhf libinput-dev:armhf libxkbcommon-dev:armhf \
      binutils-arm-linux-gnueabihf qemu-user \
 && rm -rf /var/lib/apt/lists/*
ENV CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc \
    CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc \
    CXX_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-g++ \
    PKG_CONFIG_ALLOW_CROSS=1 \
    PKG_CONFIG_LIBDIR_armv7_unknown_linux_gnueabihf=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig
