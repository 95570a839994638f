# Cross-compiling for Linux on another architecture with Debian's cross compilers
# (crossbuild-essential-ARCH), the tests run under qemu-user (.ci/cross.sh):
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-cross.cmake -DSWIN_CROSS_ARCH=arm64 \
#         -DSWIN_CROSS_SYSROOT=/path/to/sysroot ...
# SWIN_CROSS_ARCH: arm64 or s390x (Debian's names). SWIN_CROSS_SYSROOT: the architecture's
# packages unpacked (dpkg -x), the -dev packages and their dependencies down to libc6.
set(CMAKE_SYSTEM_NAME Linux)

# try_compile projects read this file again: hand them the two settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SWIN_CROSS_ARCH SWIN_CROSS_SYSROOT)
if(NOT SWIN_CROSS_ARCH)
  set(SWIN_CROSS_ARCH "$ENV{SWIN_CROSS_ARCH}")
endif()
if(NOT SWIN_CROSS_SYSROOT)
  set(SWIN_CROSS_SYSROOT "$ENV{SWIN_CROSS_SYSROOT}")
endif()
if(SWIN_CROSS_ARCH STREQUAL "arm64")
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(_swin_triplet aarch64-linux-gnu)
  set(_swin_qemu qemu-aarch64-static)
elseif(SWIN_CROSS_ARCH STREQUAL "s390x")
  set(CMAKE_SYSTEM_PROCESSOR s390x)
  set(_swin_triplet s390x-linux-gnu)
  set(_swin_qemu qemu-s390x-static)
else()
  message(FATAL_ERROR "toolchain-cross.cmake: SWIN_CROSS_ARCH must be arm64 or s390x, "
    "not '${SWIN_CROSS_ARCH}'")
endif()
if(NOT IS_DIRECTORY "${SWIN_CROSS_SYSROOT}/usr/lib/${_swin_triplet}")
  message(FATAL_ERROR "toolchain-cross.cmake: SWIN_CROSS_SYSROOT='${SWIN_CROSS_SYSROOT}' "
    "has no usr/lib/${_swin_triplet}")
endif()

# (s390x: CMakeLists.txt adds -fexcess-precision=fast for GCC, native or cross.)

set(CMAKE_C_COMPILER ${_swin_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_swin_triplet}-g++)
set(CMAKE_SYSROOT "${SWIN_CROSS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${SWIN_CROSS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# add_test runs the built programs through this; the tests that start programs of their own
# read it from SWIN_TEST_EMULATOR (tests/CMakeLists.txt).
set(CMAKE_CROSSCOMPILING_EMULATOR ${_swin_qemu} -L "${SWIN_CROSS_SYSROOT}")

# pkg-config: the sysroot's .pc files only (OpenBLAS's is under openblas-pthread/, where
# Debian's alternatives would link it from), their paths prefixed with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SWIN_CROSS_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
  "${SWIN_CROSS_SYSROOT}/usr/lib/${_swin_triplet}/pkgconfig:${SWIN_CROSS_SYSROOT}/usr/lib/${_swin_triplet}/openblas-pthread/pkgconfig:${SWIN_CROSS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
