# Run by `cmake --install` (deploy/CMakeLists.txt sets the TR_* variables): places the files
# whose contents or places depend on the install prefix, which is known only now.
#
# The rule for the configuration's place is GNUInstallDirs' and core/install_layout.cpp's (the
# installed programs look there): a prefix of / or /usr keeps it in /etc, any other in
# PREFIX/etc. Files an operator edits (the configuration, the nginx site) are never
# overwritten: a newer shipped copy lands beside them as NAME.dist, and the install says so.

function(tr_full_dir out directory)
    if(IS_ABSOLUTE "${directory}")
        set(${out} "${directory}" PARENT_SCOPE)
    else()
        set(${out} "${prefix}/${directory}" PARENT_SCOPE) # prefix: without a trailing /
    endif()
endfunction()

# DESTDIR (packaging, tests) goes before every absolute path written here, as install() does.
function(tr_staged out path)
    set(${out} "$ENV{DESTDIR}${path}" PARENT_SCOPE)
endfunction()

# Writes `content` to `path` (an installed path), unless a file the operator may have edited is
# there already: then the new one goes to path.dist, if it differs.
function(tr_install_kept path content)
    tr_staged(staged "${path}")
    if(EXISTS "${staged}")
        file(READ "${staged}" existing)
        if(existing STREQUAL content)
            message(STATUS "Up-to-date: ${staged}")
            return()
        endif()
        file(WRITE "${staged}.dist" "${content}")
        message(STATUS "Kept: ${staged} (the shipped one is ${staged}.dist; compare them)")
        return()
    endif()
    file(WRITE "${staged}" "${content}")
    message(STATUS "Installing: ${staged}")
endfunction()

function(tr_install_replaced path content)
    tr_staged(staged "${path}")
    file(WRITE "${staged}" "${content}")
    message(STATUS "Installing: ${staged}")
endfunction()

string(REGEX REPLACE "/+$" "" prefix "${CMAKE_INSTALL_PREFIX}")
if(TR_SYSCONFDIR STREQUAL "etc" AND (prefix STREQUAL "" OR prefix STREQUAL "/usr"))
    set(sysconfdir "/etc")
else()
    tr_full_dir(sysconfdir "${TR_SYSCONFDIR}")
endif()
tr_full_dir(bindir "${TR_BINDIR}")
tr_full_dir(datadir "${TR_DATADIR}")
tr_full_dir(docdir "${TR_DOCDIR}")
# systemd reads units, sysusers.d and tmpfiles.d below /usr/lib and /usr/local/lib (and /etc);
# under another prefix they are there for the operator to link or copy.
set(libdir "${prefix}/lib")
if(prefix STREQUAL "")
    set(libdir "/usr/lib")
endif()

# The configuration: the production one (absolute paths, API keys on) is the installed
# service's task-runner.cfg. The development config names the source tree (".."), so it stays
# there.
file(READ "${TR_SOURCE_DIR}/config/production.cfg" production)
file(MAKE_DIRECTORY "$ENV{DESTDIR}${sysconfdir}/task-runner")
tr_install_kept("${sysconfdir}/task-runner/task-runner.cfg" "${production}")

# The units, with this prefix's programs and configuration.
set(BINDIR "${bindir}")
set(SYSCONFDIR "${sysconfdir}")
set(DOCDIR "${docdir}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${libdir}/systemd/system" "$ENV{DESTDIR}${libdir}/sysusers.d"
     "$ENV{DESTDIR}${libdir}/tmpfiles.d")
foreach(unit task-runner-fcgi.service task-runner-runner.service)
    file(READ "${TR_SOURCE_DIR}/deploy/${unit}.in" template)
    string(CONFIGURE "${template}" text @ONLY)
    tr_install_replaced("${libdir}/systemd/system/${unit}" "${text}")
endforeach()
file(READ "${TR_SOURCE_DIR}/deploy/task-runner.sysusers" sysusers)
tr_install_replaced("${libdir}/sysusers.d/task-runner.conf" "${sysusers}")
file(READ "${TR_SOURCE_DIR}/deploy/task-runner.tmpfiles" tmpfiles)
tr_install_replaced("${libdir}/tmpfiles.d/task-runner.conf" "${tmpfiles}")

# The nginx site, rendered from the configuration just installed by the program just built
# (the edge of `task-runner serve`, one template), with the installed layout's socket and
# console. `env -i`: the file alone, not this shell's TASK_RUNNER_* overrides.
execute_process(
    COMMAND env -i "${TR_TASK_RUNNER}" nginx-site
            --config "$ENV{DESTDIR}${sysconfdir}/task-runner/task-runner.cfg"
            --socket /run/task-runner/fcgi.sock
            --console-dir "${datadir}/task-runner/console"
    OUTPUT_VARIABLE site
    ERROR_VARIABLE site_error
    RESULT_VARIABLE site_status)
if(NOT site_status EQUAL 0)
    message(FATAL_ERROR "task-runner nginx-site failed (${site_status}): ${site_error}")
endif()
# The header names the file it was rendered from; without the staging directory.
if(NOT "$ENV{DESTDIR}" STREQUAL "")
    string(REPLACE "$ENV{DESTDIR}${sysconfdir}" "${sysconfdir}" site "${site}")
endif()
file(MAKE_DIRECTORY "$ENV{DESTDIR}${sysconfdir}/nginx/sites-available")
tr_install_kept("${sysconfdir}/nginx/sites-available/task-runner" "${site}")
