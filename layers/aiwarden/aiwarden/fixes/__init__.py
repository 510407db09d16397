"""Fixes, one module per AWS service, registered with aiwarden.remediation.fix. Importing this
package imports every module in it."""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
