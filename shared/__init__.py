"""The deepfake-detection library that every service imports and `deepfake analyze` runs in-process.

Import-light on purpose: importing ``shared`` (errors, settings, report schema) must never pull in
torch or OpenVINO, so the gateway stays small. Model code lives in ``shared.models`` and is imported
only where inference happens.
"""

__version__ = "0.1.0"
