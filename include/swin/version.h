/**
 * @file version.h
 * @brief libswin version: this header is the single source of truth (CMakeLists.txt reads it).
 *
 * ABI policy: within one SOVERSION (SWIN_VERSION_MAJOR) symbols and enum values are only added,
 * never removed or changed; an incompatible change bumps the major version and the SOVERSION.
 */
#ifndef SWIN_VERSION_H
#define SWIN_VERSION_H

/** Major version; changes with the SOVERSION. */
#define SWIN_VERSION_MAJOR 0
/** Minor version; changes when the API grows. */
#define SWIN_VERSION_MINOR 1
/** Patch version; changes for fixes only. */
#define SWIN_VERSION_PATCH 0

/** SOVERSION of libswin.so; changes only when the ABI breaks. */
#define SWIN_SOVERSION 0

/** The version as one number, major * 10000 + minor * 100 + patch; compare it with
 *  swin_version_number() to check that the header and the library match. */
#define SWIN_VERSION_NUMBER                                                                        \
    (SWIN_VERSION_MAJOR * 10000 + SWIN_VERSION_MINOR * 100 + SWIN_VERSION_PATCH)

#define SWIN__STR2(x) #x
#define SWIN__STR(x) SWIN__STR2(x)
/** The version as a string literal, "major.minor.patch" (see swin_version_string()). */
#define SWIN_VERSION_STRING                                                                        \
    SWIN__STR(SWIN_VERSION_MAJOR)                                                                  \
    "." SWIN__STR(SWIN_VERSION_MINOR) "." SWIN__STR(SWIN_VERSION_PATCH)

#endif /* SWIN_VERSION_H */
