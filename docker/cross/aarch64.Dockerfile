# Build image for cross (Cross.toml): Debian bookworm with the arm64 toolchain and the libraries
# that the linuxkms Slint backend links (libinput, libudev, libxkbcommon), as multiarch -dev packages
# (bookworm has libinput 1.22; the linuxkms backend needs >= 1.21). qemu-user runs `cross test`
# through the runner in .cargo/config.toml, the same one the container-free path uses.
FROM debian:bookworm
RUN dpkg --add-architecture arm64 \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates pkg-config gcc g++ libc6-dev \
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross \
      libudev-dev:arm64 libinput-dev:arm64 libxkbcommon-dev:arm64 \
      binutils-aarch64-linux-gnu qemu-user \
 && rm -rf /var/lib/apt/lists/*
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
    PKG_CONFIG_ALLOW_CROSS=1 \
    PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
