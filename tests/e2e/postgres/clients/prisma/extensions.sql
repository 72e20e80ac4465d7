SELECT
    ext.extname AS extension_name,
    ext.extversion AS extension_version,
    ext.extrelocatable AS extension_relocatable,
    pn.nspname AS extension_schema
FROM pg_extension ext
INNER JOIN pg_namespace pn ON ext.extnamespace = pn.oid
ORDER BY ext.extname ASC
