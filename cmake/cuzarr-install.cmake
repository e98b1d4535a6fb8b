# Install rules: the library, its public headers, a CMake package (find_package(cuzarr) ->
# cuzarr::cuzarr) and a pkg-config file. A plain CMake install uses the GNU layout under the
# prefix; inside the wheel (scikit-build-core) everything goes under the package, cuzarr/, where
# `python -m cuzarr --cmake-dir` / `--include-dir` find it, the way nanobind and pybind11 ship
# their CMake files. The CLI's own rule is in tools/cli.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(SKBUILD)
  set(CUZARR_INSTALL_LIBDIR cuzarr/lib)
  set(CUZARR_INSTALL_INCLUDEDIR cuzarr/include)
else()
  set(CUZARR_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR})
  set(CUZARR_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
endif()
set(CUZARR_INSTALL_CMAKEDIR ${CUZARR_INSTALL_LIBDIR}/cmake/cuzarr)

get_target_property(_cuzarr_type cuzarr TYPE)
if(_cuzarr_type STREQUAL "STATIC_LIBRARY")
  set(CUZARR_STATIC ON)
else()
  set(CUZARR_STATIC OFF)
endif()

install(TARGETS cuzarr EXPORT cuzarr-targets
  ARCHIVE DESTINATION ${CUZARR_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CUZARR_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  INCLUDES DESTINATION ${CUZARR_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/cpp/include/cuzarr
  DESTINATION ${CUZARR_INSTALL_INCLUDEDIR} COMPONENT development)
install(EXPORT cuzarr-targets NAMESPACE cuzarr:: FILE cuzarr-targets.cmake
  DESTINATION ${CUZARR_INSTALL_CMAKEDIR} COMPONENT development)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/cuzarr-config.cmake.in
  ${PROJECT_BINARY_DIR}/cuzarr-config.cmake
  INSTALL_DESTINATION ${CUZARR_INSTALL_CMAKEDIR})
# 0.x: a minor release may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cuzarr-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cuzarr-config.cmake ${PROJECT_BINARY_DIR}/cuzarr-config-version.cmake
  DESTINATION ${CUZARR_INSTALL_CMAKEDIR} COMPONENT development)

# pkg-config. A static libcuzarr (the default) is the only library installed, so every link needs
# what it links: those go to Requires and Libs, and `pkg-config --cflags --libs cuzarr` is enough.
# (Requires.private with `pkg-config --static` would be the textbook form, but --static also asks
# for static builds of libcurl's own dependencies, which systems seldom have.) A shared libcuzarr
# carries its dependencies: they go to Requires.private / Libs.private.
set(_pc_requires libzstd liblz4 blosc zlib)
set(_pc_libs -lbz2)
if(CUZARR_HAVE_HTTP)
  list(APPEND _pc_requires libcurl)
endif()
if(CUZARR_HAVE_OPENSSL)
  list(APPEND _pc_requires libcrypto)
endif()
if(CUZARR_HAVE_ZIP)
  list(APPEND _pc_requires libzip)
endif()
if(CUZARR_HAVE_LZMA)
  list(APPEND _pc_requires liblzma)
endif()
if(CUZARR_HAVE_CUDA)
  get_filename_component(_pc_cudart_dir "${CUDA_cudart_static_LIBRARY}" DIRECTORY)
  list(APPEND _pc_libs -L${_pc_cudart_dir} -lcudart_static -lrt -ldl)
endif()
list(APPEND _pc_libs -pthread)
list(JOIN _pc_requires " " _pc_requires)
list(JOIN _pc_libs " " _pc_libs)
if(CUZARR_STATIC)
  set(CUZARR_PC_DEPENDENCIES "Requires: ${_pc_requires}\nLibs: -L\${libdir} -lcuzarr ${_pc_libs}")
else()
  set(CUZARR_PC_DEPENDENCIES
      "Libs: -L\${libdir} -lcuzarr\nRequires.private: ${_pc_requires}\nLibs.private: ${_pc_libs}")
endif()
# Paths relative to the .pc file's own folder, so the installed tree and the wheel can be moved.
if(IS_ABSOLUTE "${CUZARR_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CUZARR_INSTALL_INCLUDEDIR}")
  set(CUZARR_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _pc_up /p/${CUZARR_INSTALL_LIBDIR}/pkgconfig /p)
  string(REGEX REPLACE "/$" "" _pc_up "${_pc_up}")
  set(CUZARR_PC_PREFIX "\${pcfiledir}/${_pc_up}")
endif()
cmake_path(ABSOLUTE_PATH CUZARR_INSTALL_LIBDIR BASE_DIRECTORY "\${prefix}" OUTPUT_VARIABLE CUZARR_PC_LIBDIR)
cmake_path(ABSOLUTE_PATH CUZARR_INSTALL_INCLUDEDIR BASE_DIRECTORY "\${prefix}" OUTPUT_VARIABLE CUZARR_PC_INCLUDEDIR)
configure_file(${CMAKE_CURRENT_LIST_DIR}/cuzarr.pc.in ${PROJECT_BINARY_DIR}/cuzarr.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cuzarr.pc
  DESTINATION ${CUZARR_INSTALL_LIBDIR}/pkgconfig COMPONENT development)
