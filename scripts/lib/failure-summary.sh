#!/usr/bin/env bash
# What failed in a tier's log, in a few lines, for the end of the test command's output (the
# part CI shows): the step that was running, the task or test that failed and its first lines.
#   scripts/lib/failure-summary.sh NAME LOG
# Lines are cut at 400 characters; the whole log stays where the tier wrote it.
set -euo pipefail
name=$1 log=$2
if [ ! -s "$log" ]; then
  echo "=== $name failed; its log $log is missing or empty"
  exit 0
fi
echo "=== $name failed (whole log: $log)"
pattern='fatal: \[|failed: \[|FAILED! =>|Idempotence test failed|^FAILED |^E  '
# The last failure that was not ignored (ansible prints "...ignoring" after an ignored one);
# without one, the log's last lines.
awk -v pat="$pattern" '
  function cut(s) { return length(s) > 400 ? substr(s, 1, 400) " ..." : s }
  # molecule indents the playbook output with a box-drawing bar: read the lines without it
  { gsub(/\033\[[0-9;]*m/, ""); sub(/^  │ /, ""); line[NR] = $0 }
  /(➜|>) *(syntax|create|prepare|converge|idempotence|side_effect|verify|cleanup|destroy)/ { step = $0 }
  /^(TASK|RUNNING HANDLER) \[/ { task = $0 }
  $0 ~ pat { n++; at[n] = NR; at_step[n] = step; at_task[n] = task }
  /^\.\.\.ignoring/ && n && at[n] >= NR - 3 { n-- }
  END {
    if (!n) {
      print "(no failed task or test found in the log; its last lines follow)"
      for (i = (NR > 15 ? NR - 14 : 1); i <= NR; i++) print cut(line[i])
      exit
    }
    if (at_step[n] != "") print "step: " cut(at_step[n])
    if (at_task[n] != "") print cut(at_task[n])
    for (i = at[n]; i <= NR && i < at[n] + 12; i++) print cut(line[i])
  }
' "$log"
