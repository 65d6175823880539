# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The attributes block every module of the collection declares, written once.

`mevops.infra.attributes` describes the attributes (check_mode, diff_mode, platform: POSIX);
a module still states its own support and what check mode does for it. The variants state
support for a kind of module:

- `mevops.infra.attributes.read_only`: modules that only read (full check mode, no diff);
- `mevops.infra.attributes.no_diff`: modules that change things and report what they changed
  in their result keys rather than as a before/after diff.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so it runs the same in check mode; it never reports a change.
  diff_mode:
    support: none
    details:
      - Nothing changes, so there is nothing to diff.
"""

    NO_DIFF = r"""
options: {}
attributes:
  diff_mode:
    support: none
    details:
      - What changed is in the result's keys; there is no before/after text to diff.
"""
