"""The project database behind :mod:`quantbridge.validation.certificates`: the ORM schema
(:mod:`.schema`) and its Alembic migrations (:mod:`.migrations`, applied by :mod:`.migrate`)."""
