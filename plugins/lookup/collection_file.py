# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The controller path of a file shipped inside this collection, so a role never reaches
outside its own folder with role_path/.. to find it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: collection_file
short_description: The controller path of a file or folder shipped inside the mevops.infra collection
version_added: 0.1.0
author:
  - mevops.infra developers (@mevops)
description:
  - Returns the absolute path, on the controller, of each term, a path relative to the root of the
    installed mevops.infra collection (for example V(files/mev_engine) or
    V(plugins/module_utils/backup_manifest.py)).
  - The root is found from this plugin's own location, so the result is right wherever the collection
    is loaded from, an installed tarball or a checkout linked into a collections path.
  - Roles use it instead of C({{ role_path }}/../..), which assumes the collection's layout and reaches
    outside the role's folder.
  - Fails naming the path when a term is absolute, leaves the collection (C(..)), or names nothing the
    collection ships.
options:
  _terms:
    description: Paths relative to the collection's root.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Copy the shared manifest code to the host
  ansible.builtin.copy:
    src: "{{ lookup('mevops.infra.collection_file', 'plugins/module_utils/backup_manifest.py') }}"
    dest: /usr/local/lib/mevops/backup/backup_manifest.py
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The absolute controller path of each term, in order.
  type: list
  elements: path
"""

from pathlib import Path, PurePosixPath

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# plugins/lookup/collection_file.py -> the collection's root.
COLLECTION_ROOT = Path(__file__).resolve().parents[2]


def collection_path(term: str, root: Path = COLLECTION_ROOT) -> str:
    """The absolute path of TERM inside ROOT; raise AnsibleLookupError when it is not there."""
    relative = PurePosixPath(term)
    if not term or relative.is_absolute() or ".." in relative.parts:
        raise AnsibleLookupError(
            f"collection_file: {term!r} must be a path relative to the collection's root without '..',"
            " e.g. 'files/mev_engine'"
        )
    path = root.joinpath(*relative.parts)
    if not path.exists():
        raise AnsibleLookupError(
            f"collection_file: {term!r} is not shipped in the collection (looked for {path}); check the name,"
            " and galaxy.yml's build_ignore when the collection was installed from a tarball"
        )
    return str(path)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [collection_path(str(term)) for term in terms]
