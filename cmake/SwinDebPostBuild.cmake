# CPack post-build script (set in cmake/SwinPackaging.cmake): the shared library's package
# activates the ldconfig trigger instead of calling ldconfig from postinst and postrm, which
# is what CPack (3.25) writes and Debian policy 8.1.1 no longer wants.
foreach(_deb IN LISTS CPACK_PACKAGE_FILES)
  get_filename_component(_name "${_deb}" NAME)
  if(NOT _name MATCHES "^${CPACK_DEBIAN_RUNTIME_PACKAGE_NAME}_.*\\.deb$")
    continue()
  endif()
  set(_dir "${CPACK_TOPLEVEL_DIRECTORY}/ldconfig-trigger")
  file(REMOVE_RECURSE "${_dir}")
  execute_process(COMMAND dpkg-deb --raw-extract "${_deb}" "${_dir}" COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE "${_dir}/DEBIAN/postinst" "${_dir}/DEBIAN/postrm")
  file(WRITE "${_dir}/DEBIAN/triggers" "activate-noawait ldconfig\n")
  execute_process(COMMAND dpkg-deb --root-owner-group --build "${_dir}" "${_deb}"
    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE "${_dir}")
endforeach()
