# Runs examples/classify on the images of a shapes hub folder and checks its output: exit status
# 0, five "IMAGE: label (prob%)" lines per image, and each image's first (top-1) label equal to
# the PyTorch reference's in SHAPES/images/expected_top5.json.
#   cmake -DCLASSIFY=path/to/classify -DSHAPES=examples/shapes -P tests/example_classify.cmake
# (CTest's example_classify, and .ci/package.sh on a copy built against the installed package).
# -DEMULATOR=qemu-aarch64-static|-L|/sysroot (optional, '|' between the words): run classify
# under it (a cross-compiled build; tests/CMakeLists.txt passes it).
cmake_minimum_required(VERSION 3.20)
foreach(_v CLASSIFY SHAPES)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "example_classify.cmake: -D${_v}=... is required")
  endif()
endforeach()

file(READ "${SHAPES}/images/expected_top5.json" _json)
string(JSON _n LENGTH "${_json}" images)
set(_files "")
math(EXPR _last "${_n} - 1")
foreach(_i RANGE ${_last})
  string(JSON _file GET "${_json}" images ${_i} file)
  string(JSON _label GET "${_json}" images ${_i} top5 0 label)
  list(APPEND _files "${SHAPES}/images/${_file}")
  set(_expected_${_i} "${_label}")
endforeach()

string(REPLACE "|" ";" _emulator "${EMULATOR}")
execute_process(COMMAND ${_emulator} "${CLASSIFY}" "${SHAPES}" ${_files}
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
message("${_out}${_err}")
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "classify exited with ${_rc}")
endif()

set(_bad 0)
string(REGEX MATCHALL "[^\n]*\n" _lines "${_out}")
foreach(_i RANGE ${_last})
  list(GET _files ${_i} _path)
  # The lines of this image, in order: the first is its top-1.
  set(_mine "")
  foreach(_line IN LISTS _lines)
    string(FIND "${_line}" "${_path}: " _at)
    if(_at EQUAL 0)
      list(APPEND _mine "${_line}")
    endif()
  endforeach()
  list(LENGTH _mine _count)
  if(NOT _count EQUAL 5)
    message(SEND_ERROR "${_path}: ${_count} lines, expected 5")
    set(_bad 1)
    continue()
  endif()
  list(GET _mine 0 _top)
  if(NOT _top MATCHES "^[^\n]*: ([^\n]+) \\([0-9.]+%\\)\n$")
    message(SEND_ERROR "${_path}: malformed line '${_top}'")
    set(_bad 1)
  elseif(NOT CMAKE_MATCH_1 STREQUAL _expected_${_i})
    message(SEND_ERROR "${_path}: top-1 '${CMAKE_MATCH_1}', the reference's is '${_expected_${_i}}'")
    set(_bad 1)
  endif()
endforeach()
if(_bad)
  message(FATAL_ERROR "classify's top-1 differs from expected_top5.json")
endif()
message("classify: the top-1 of all ${_n} images equals the reference's")
