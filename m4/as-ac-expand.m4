dnl AS_AC_EXPAND(VAR, CONFIGURE_VAR)
dnl Expands a configure variable such as $sysconfdir fully (prefix and
dnl exec_prefix resolved) into VAR.
AC_DEFUN([AS_AC_EXPAND],
[
  EXP_VAR=[$1]
  FROM_VAR=[$2]
  prefix_save=$prefix
  exec_prefix_save=$exec_prefix
  if test "x$prefix" = "xNONE"; then prefix="$ac_default_prefix"; fi
  if test "x$exec_prefix" = "xNONE"; then exec_prefix=$prefix; fi
  full_var="$FROM_VAR"
  while true; do
    new_full_var="`eval echo $full_var`"
    if test "x$new_full_var" = "x$full_var"; then break; fi
    full_var=$new_full_var
  done
  full_var=$new_full_var
  AC_SUBST([$1], "$full_var")
  prefix=$prefix_save
  exec_prefix=$exec_prefix_save
])
