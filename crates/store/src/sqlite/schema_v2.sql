-- Instance administrators: set by the operator with `hearth admin set-admin`.
ALTER TABLE users ADD COLUMN instance_admin INTEGER NOT NULL DEFAULT 0;
