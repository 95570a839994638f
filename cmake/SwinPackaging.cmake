# Packaging (issue 6): the man page, Debian packages (CPack DEB, one package per install
# component), the API reference (Doxygen), and the Python binding's tests in CTest.
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-deb && (cd build-deb && cpack -G DEB)     -> libswin0, libswin-dev,
#                                                                     swin-tools .deb files
#   cmake --build build --target doc                               -> build/doc/html
# .ci/package.sh does all of it and checks the result.

# ---- man page (swin-tools), compressed as Debian policy wants it ----
if(SWIN_BUILD_TOOLS)
  find_program(SWIN_GZIP gzip)
  if(SWIN_GZIP)
    add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/man/swin.1.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
      COMMAND ${SWIN_GZIP} -9nc ${PROJECT_SOURCE_DIR}/man/swin.1 > ${CMAKE_CURRENT_BINARY_DIR}/man/swin.1.gz
      DEPENDS ${PROJECT_SOURCE_DIR}/man/swin.1 VERBATIM)
    add_custom_target(swin_man ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/man/swin.1.gz)
    install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/swin.1.gz
      DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
  else()
    install(FILES man/swin.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
  endif()
  # In a system prefix the library is on the loader's path: no RUNPATH (Debian policy).
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set_target_properties(swin_cli PROPERTIES INSTALL_RPATH "")
  endif()
endif()

# ---- API reference: `cmake --build build --target doc`; warnings fail the build ----
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  configure_file(docs/Doxyfile.in ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile @ONLY)
  add_custom_target(doc
    COMMAND Doxygen::doxygen ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "API reference: ${CMAKE_CURRENT_BINARY_DIR}/doc/html/index.html"
    VERBATIM)
endif()

# ---- Python binding tests (ctypes over this build's libswin), when NumPy is there ----
# Not in sanitizer builds: an instrumented libswin.so cannot be loaded into python3.
if(SWIN_BUILD_TESTS AND NOT SWIN_SANITIZE AND NOT SWIN_FUZZ AND CMAKE_CROSSCOMPILING)
  # Cross-compiled (.ci/cross.sh): the host's python3 cannot load a libswin.so of another
  # architecture, so the test runs the sysroot's own python3 and NumPy under the emulator
  # (qemu-user, CMAKE_CROSSCOMPILING_EMULATOR). Two scripts in the build directory, run by the
  # host's /bin/sh, stand for the emulated programs wherever a single executable path is
  # wanted: swin-emulated for SWIN_CLI (the tests start it through subprocess) and
  # python3-emulated, which the test runs and which qemu's -0 makes python's sys.executable,
  # so that multiprocessing's spawn children (test_inputs.py) start under qemu too (without
  # binfmt_misc, the host cannot execve a foreign python). PYTHONHOME: the sysroot's standard
  # library and dist-packages, never the host's (qemu -L falls back to host paths).
  set(_sysroot "${CMAKE_SYSROOT}")
  if(NOT _sysroot)
    set(_sysroot "${SWIN_CROSS_SYSROOT}")
  endif()
  set(_emu ${CMAKE_CROSSCOMPILING_EMULATOR})
  set(_py "${_sysroot}/usr/bin/python3")
  set(SWIN_PYTHON "")
  if(_emu AND _sysroot AND EXISTS "${_py}")
    list(GET _emu 0 _emu0)
    get_filename_component(_emu0 "${_emu0}" NAME)
    if(NOT _emu0 MATCHES "^qemu-")
      message(STATUS "Python binding tests: not with emulator ${_emu0} (qemu-user's -0 is used)")
    else()
      execute_process(COMMAND ${CMAKE_COMMAND} -E env "PYTHONHOME=${_sysroot}/usr"
        ${_emu} "${_py}" -c "import numpy" RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
      if(_rc EQUAL 0)
        set(SWIN_PYTHON "${_py}")
      endif()
    endif()
  endif()
  if(SWIN_PYTHON)
    # the emulator's words, each quoted for sh
    set(_emu_sh "")
    foreach(_w IN LISTS _emu)
      string(REPLACE "'" "'\\''" _w "${_w}")
      string(APPEND _emu_sh " '${_w}'")
    endforeach()
    string(REPLACE "'" "'\\''" _py_sh "${SWIN_PYTHON}")
    string(REPLACE "'" "'\\''" _home_sh "${_sysroot}/usr")
    file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/python3-emulated
      CONTENT "#!/bin/sh\nPYTHONHOME='${_home_sh}'\nexport PYTHONHOME\nexec${_emu_sh} -0 \"$0\" '${_py_sh}' \"$@\"\n"
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
        WORLD_READ WORLD_EXECUTE)
    add_test(NAME python
      COMMAND ${CMAKE_CURRENT_BINARY_DIR}/python3-emulated -m unittest discover
        -s ${PROJECT_SOURCE_DIR}/bindings/python/tests)
    set(_env "SWIN_LIBRARY=$<TARGET_FILE:swin>")
    if(TARGET swin_cli)
      file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/swin-emulated
        CONTENT "#!/bin/sh\nexec${_emu_sh} '$<TARGET_FILE:swin_cli>' \"$@\"\n"
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
          WORLD_READ WORLD_EXECUTE)
      list(APPEND _env "SWIN_CLI=${CMAKE_CURRENT_BINARY_DIR}/swin-emulated")
    endif()
    set_tests_properties(python PROPERTIES ENVIRONMENT "${_env}")
  else()
    message(STATUS "Python binding tests: skipped (no python3 with NumPy in the sysroot "
      "'${_sysroot}' to run under the emulator)")
  endif()
endif()
if(SWIN_BUILD_TESTS AND NOT SWIN_SANITIZE AND NOT SWIN_FUZZ AND NOT CMAKE_CROSSCOMPILING)
  find_package(Python3 COMPONENTS Interpreter QUIET)
  set(SWIN_PYTHON "")
  # The interpreter found first (a virtualenv, pyenv) may lack NumPy where Debian's has it.
  foreach(_py ${Python3_EXECUTABLE} /usr/bin/python3)
    if(NOT SWIN_PYTHON AND EXISTS "${_py}")
      execute_process(COMMAND "${_py}" -c "import numpy" RESULT_VARIABLE _rc
        OUTPUT_QUIET ERROR_QUIET)
      if(_rc EQUAL 0)
        set(SWIN_PYTHON "${_py}")
      endif()
    endif()
  endforeach()
  if(SWIN_PYTHON)
    add_test(NAME python
      COMMAND ${SWIN_PYTHON} -m unittest discover -s ${PROJECT_SOURCE_DIR}/bindings/python/tests)
    set(_env "SWIN_LIBRARY=$<TARGET_FILE:swin>")
    if(TARGET swin_cli)
      list(APPEND _env "SWIN_CLI=$<TARGET_FILE:swin_cli>")
    endif()
    set_tests_properties(python PROPERTIES ENVIRONMENT "${_env}")
  else()
    message(STATUS "Python binding tests: skipped (no python3 with NumPy; apt-get install python3-numpy)")
  endif()
endif()

# ---- Debian packages (CPack DEB) ----
if(NOT SWIN_TOP_LEVEL)
  return()
endif()
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "Debian packages: configure with -DCMAKE_INSTALL_PREFIX=/usr to build them")
endif()

set(SWIN_DEB_MAINTAINER "libswin maintainers <maintainers@users.noreply.h-seed-eabc4ac1.example>"
  CACHE STRING "Maintainer field of the Debian packages")
set(SWIN_DEB_RELEASE 1 CACHE STRING "Debian revision of the packages (VERSION-RELEASE)")
set(_deb_version "${PROJECT_VERSION}-${SWIN_DEB_RELEASE}")
set(_runtime_pkg "libswin${SWIN_SOVERSION}")

# -dev depends on the -dev package of every module its .pc file names in Requires.private:
# pkg-config resolves them even for --cflags, and static consumers link them.
set(_pc_dev_openblas libopenblas-dev)
set(_pc_dev_jansson libjansson-dev)
set(_pc_dev_libpng libpng-dev)
set(_pc_dev_libjpeg libjpeg-dev)
string(REPLACE " " ";" _pc_modules "${SWIN_PC_REQUIRES_PRIVATE}")
set(_dev_depends "")
foreach(_m IN LISTS _pc_modules)
  if(NOT DEFINED _pc_dev_${_m})
    message(FATAL_ERROR "SwinPackaging.cmake: no Debian -dev package known for pkg-config module '${_m}'")
  endif()
  list(APPEND _dev_depends "${_pc_dev_${_m}}")
endforeach()
if(NOT "openblas" IN_LIST _pc_modules)
  list(APPEND _dev_depends libopenblas-dev)  # OpenBLAS found without pkg-config: still needed
endif()
list(JOIN _dev_depends ", " _dev_depends)

# Each package carries its copyright file and changelog (Debian policy 12.5, 12.7). They are
# installed only by component installs (CPack), not by a plain `cmake --install`.
set(_deb_doc_dir ${CMAKE_CURRENT_BINARY_DIR}/debian-doc)
if(EXISTS ${PROJECT_SOURCE_DIR}/LICENSE)
  file(READ ${PROJECT_SOURCE_DIR}/LICENSE _license_text)
else()
  set(_license_text "No licence file is in the libswin source tree yet.")
endif()
string(REGEX REPLACE "\n\n" "\n.\n" _license_text "${_license_text}")
string(REGEX REPLACE "\n$" "" _license_text "${_license_text}")
string(REPLACE "\n" "\n " _license_text "${_license_text}")
# Debian's short name for the MIT licence is Expat
set(SWIN_LICENSE "Expat" CACHE STRING "License short name in the packages' copyright file")
# SOURCE_DATE_EPOCH (set by .ci/package.sh from the last commit) makes the dates reproducible.
string(TIMESTAMP _deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
string(TIMESTAMP _deb_year "%Y" UTC)
file(WRITE ${_deb_doc_dir}/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: libswin

Files: *
Copyright: ${_deb_year} The libswin authors
License: ${SWIN_LICENSE}
 ${_license_text}
")
file(WRITE ${_deb_doc_dir}/changelog.Debian
"libswin (${_deb_version}) unstable; urgency=medium

  * Package built from the libswin source tree (cmake/SwinPackaging.cmake).

 -- ${SWIN_DEB_MAINTAINER}  ${_deb_date}
")
find_program(SWIN_GZIP gzip)
if(SWIN_GZIP)
  execute_process(COMMAND ${SWIN_GZIP} -9nf ${_deb_doc_dir}/changelog.Debian)
  set(_components runtime dev)
  if(SWIN_BUILD_TOOLS)
    list(APPEND _components tools)
  endif()
  list(APPEND _components python)
  set(_pkg_runtime ${_runtime_pkg})
  set(_pkg_dev libswin-dev)
  set(_pkg_tools swin-tools)
  set(_pkg_python python3-libswin)
  foreach(_c IN LISTS _components)
    install(FILES ${_deb_doc_dir}/copyright ${_deb_doc_dir}/changelog.Debian.gz
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg_${_c}} COMPONENT ${_c} EXCLUDE_FROM_ALL)
    # These packages are built from the upstream tree, not uploaded to Debian: no ITP bug.
    file(WRITE ${_deb_doc_dir}/${_pkg_${_c}}.lintian-overrides
      "# Built from the libswin tree, not uploaded to Debian: there is no ITP bug to close.\n"
      "${_pkg_${_c}}: initial-upload-closes-no-bugs\n")
    install(FILES ${_deb_doc_dir}/${_pkg_${_c}}.lintian-overrides
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME ${_pkg_${_c}}
      COMPONENT ${_c} EXCLUDE_FROM_ALL)
  endforeach()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libswin)
set(CPACK_PACKAGE_VENDOR "libswin")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SWIN_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SWIN_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SWIN_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE libswin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Runtime dependencies from the ELF files (dpkg-shlibdeps); swin's libswin.so.0 is found in
# this build tree and comes from the component dependency below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_CURRENT_BINARY_DIR})
# A shlibs file for libswin0: programs built against version V depend on libswin0 (>= V), since
# the ABI only grows within one SOVERSION (docs/abi.md).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
# libswin0 gets an ldconfig trigger in place of the ldconfig calls CPack writes into its
# postinst and postrm (Debian policy 8.1.1; lintian's lacks-ldconfig-trigger).
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/SwinDebPostBuild.cmake)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${_runtime_pkg})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
"Swin Transformer and ViT inference on the CPU (shared library)
libswin runs Swin Transformer and Vision Transformer (ViT) image models on
the CPU through a stable C ABI. It reads safetensors checkpoints (timm,
official Microsoft and Hugging Face hub layouts) memory-mapped, decodes and
preprocesses JPEG and PNG images as timm evaluates them, and does every
matrix product with OpenBLAS.
.
This package contains the shared library.")

set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libswin-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_dev_depends}")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"Swin Transformer and ViT inference on the CPU (development files)
libswin runs Swin Transformer and Vision Transformer (ViT) image models on
the CPU through a stable C ABI, with OpenBLAS.
.
This package contains the header, the static library, the pkg-config file
(libswin) and the CMake package (find_package(libswin), targets swin::swin
and swin::swin_static).")

# python3-libswin: the pure-Python package (ctypes over libswin0), where Debian's python3 looks.
# (with swin, the deprecated old name: a shim that imports libswin, as pip installs it too)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/libswin
  ${PROJECT_SOURCE_DIR}/bindings/python/swin
  DESTINATION lib/python3/dist-packages COMPONENT python EXCLUDE_FROM_ALL
  PATTERN __pycache__ EXCLUDE)
set(CPACK_COMPONENT_PYTHON_DEPENDS runtime)
set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-libswin)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3:any, python3-numpy")
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS OFF)
# its prerm removes the byte code python3 writes beside the module (py3clean's job)
set(CPACK_DEBIAN_PYTHON_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/python3-libswin/prerm)
set(CPACK_DEBIAN_PYTHON_DESCRIPTION
"Swin Transformer and ViT inference on the CPU (Python 3)
libswin runs Swin Transformer and Vision Transformer (ViT) image models on
the CPU through a stable C ABI, with OpenBLAS.
.
This package contains the Python 3 module libswin (ctypes over the shared
library, NumPy arrays in and out, PIL images, pickling, libswin.dask).")

set(CPACK_COMPONENT_TOOLS_DEPENDS runtime)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME swin-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION science)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
"Swin Transformer and ViT inference on the CPU (command line program)
The swin program runs Swin Transformer and Vision Transformer (ViT) models
with libswin: it classifies JPEG and PNG images, runs NumPy batches, prints
a model's architecture, parameters and FLOPs, and benchmarks models.")

include(CPack)
