# Hardening builds (issue 7; docs/security.md). Included at the end of the top-level
# CMakeLists.txt, so it can reach every target already defined.
#
#   -DSWIN_SANITIZE=address,undefined   ASan + UBSan on every target (any -fsanitize= list;
#                                       "thread" for TSan). Recovery is off: the first report
#                                       aborts the process, so ctest sees it.
#   -DSWIN_FUZZ=ON                      clang only: the libFuzzer binaries of tests/fuzz, with
#                                       the library built with coverage instrumentation and
#                                       FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (smaller image
#                                       bound). Implies SWIN_SANITIZE=address,undefined unless
#                                       set. Configure it with SWIN_BUILD_TESTS/TOOLS=OFF.
#
# The allocation-failure hook (swin__alloc_fail_at, src/status.c) needs no option: it is always
# compiled, hidden from the shared library's exports, and reached by the tests through the
# static library.
set(SWIN_SANITIZE "" CACHE STRING
  "Sanitizers for every target, e.g. address,undefined or thread")
option(SWIN_FUZZ "Build the libFuzzer targets of tests/fuzz (clang)" OFF)

if(SWIN_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SWIN_FUZZ needs clang (libFuzzer); configure with CMAKE_C_COMPILER=clang-14")
  endif()
  if(NOT SWIN_SANITIZE)
    set(SWIN_SANITIZE address,undefined)
  endif()
  if(NOT SWIN_BUILD_TESTS) # with tests on, tests/CMakeLists.txt adds tests/fuzz itself
    add_subdirectory(${PROJECT_SOURCE_DIR}/tests/fuzz ${PROJECT_BINARY_DIR}/tests/fuzz)
  endif()
  target_compile_options(swin_objects PRIVATE -fsanitize=fuzzer-no-link)
  target_compile_definitions(swin_objects PRIVATE FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
endif()

# Every buildsystem target of this project, in this directory and below.
function(_swin_targets dir out)
  get_property(_t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(_s ${_subs})
    _swin_targets(${_s} _more)
    list(APPEND _t ${_more})
  endforeach()
  set(${out} ${_t} PARENT_SCOPE)
endfunction()

if(SWIN_SANITIZE)
  set(_swin_san -fsanitize=${SWIN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  _swin_targets(${PROJECT_SOURCE_DIR} _swin_all)
  foreach(_t ${_swin_all})
    get_target_property(_type ${_t} TYPE)
    if(_type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY|STATIC_LIBRARY|OBJECT_LIBRARY)$")
      target_compile_options(${_t} PRIVATE ${_swin_san} -g)
      if(_type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
        target_link_options(${_t} PRIVATE -fsanitize=${SWIN_SANITIZE})
      endif()
    endif()
  endforeach()
  message(STATUS "libswin: sanitizers ${SWIN_SANITIZE} on every target")
endif()
