"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host we cannot reach.

ansible-test creates each sanity virtualenv without pip, then runs this file (cached as
~/.ansible/test/cache/get_pip_<version>.py) with pip's install options and the pinned
`pip==<version>`. Like get-pip.py, it runs pip from a wheel (the one bundled with the
interpreter's ensurepip) to install the requested pip from the package index.
"""

import ensurepip
import glob
import os
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip.py's own flags, not pip's


def main() -> int:
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
    if not wheels:
        sys.stderr.write("ensurepip has no bundled pip wheel: install python3-venv / a full CPython\n")
        return 1
    sys.path.insert(0, sorted(wheels)[-1])
    from pip._internal.cli.main import main as pip_main  # noqa: PLC0415 (from the wheel just put on sys.path)

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    return pip_main(["install", "--upgrade", "--force-reinstall", *args])


if __name__ == "__main__":
    sys.exit(main())
