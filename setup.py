"""The wheel carries the templates and migrations, which live at the top of the checkout.

`pyproject.toml` holds the project's metadata; this file only adds one build step: the folders
`templates/` and `migrations/` are copied into the built package as `mentoring/bundled/`, where
`mentoring.resources` finds them once installed (a checkout uses the folders where they are).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED_FOLDERS = ("templates", "migrations")


class BuildWithBundledFolders(build_py):
    def run(self):
        super().run()
        for folder in BUNDLED_FOLDERS:
            target = Path(self.build_lib) / "mentoring" / "bundled" / folder
            self.copy_tree(folder, str(target))


setup(cmdclass={"build_py": BuildWithBundledFolders})
