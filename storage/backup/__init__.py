"""Backup and restore of the Database and the Warehouse: one tar.gz archive with a
manifest (`storage.backup.archive`), the Database's tables (`storage.backup.database`)
and the Warehouse's (`storage.backup.warehouse`); `storage.backup.run` ties them together.
Plain Python over the store interfaces: any backend the registry opens works."""
