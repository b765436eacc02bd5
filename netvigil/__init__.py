"""NetVigil shared package: records, topics, settings, database access, CLI and local stack."""

__all__ = ["__version__"]
__version__ = "0.1.0"
