# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Lookup plugin playbook_vars: a playbook's variables with their defaults, from one argument spec."""

from __future__ import annotations

DOCUMENTATION = r"""
name: playbook_vars
author: mevops.infra developers (@mevops)
version_added: 1.0.0
short_description: A playbook's variables with their defaults, declared once in an argument spec
description:
  - Returns one dict holding, for each option of the argument spec, the variable of that name as the play
    sees it (inventory, C(-e), play variables), or the option's C(default) when the variable is not set.
    Options without a default that are not set are left out, so that M(ansible.builtin.validate_argument_spec)
    given the same spec names them as missing.
  - The collection's playbooks declare their variables in C(playbooks/vars/<playbook>.yml) as a spec, validate
    them with M(ansible.builtin.validate_argument_spec) as their first task and read the values from this
    lookup, never from a C(default()) of their own.
options:
  _terms:
    description: The argument spec, a dict of variable name to its spec (type, default, choices, ...), as
      M(ansible.builtin.validate_argument_spec) takes it.
    required: true
    type: dict
"""

EXAMPLES = r"""
- name: Check the playbook's variables
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ maintenance_spec }}"
    provided_arguments: "{{ lookup('mevops.infra.playbook_vars', maintenance_spec) }}"
"""

RETURN = r"""
_raw:
  description: One dict of variable name to value.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.collections import is_sequence
from ansible.plugins.lookup import LookupBase


def resolve(spec: dict, variables: dict, template=lambda value: value) -> dict:
    """Each option's value: the variable when set (templated by `template`), else its default if it has one."""
    values = {}
    for name, option in spec.items():
        if name in variables:
            values[name] = template(variables[name])
        elif "default" in (option or {}):
            values[name] = option["default"]
    return values


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1 or not isinstance(terms[0], dict) or is_sequence(terms[0]):
            raise AnsibleLookupError("playbook_vars takes one argument spec (a dict of variable name to its spec)")
        return [resolve(terms[0], variables or {}, self._templar.template)]
