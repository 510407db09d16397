"""AI Warden: event-driven continuous compliance for AI workloads on AWS.

Everything a Lambda function or the ``aiwarden`` CLI does lives in this package, so the code a
test or an engineer runs locally is byte for byte the code the layer ships.
"""

__version__ = "0.1.0"
