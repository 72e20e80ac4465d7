CREATE TABLE items (id SERIAL PRIMARY KEY, sku VARCHAR(20) NOT NULL UNIQUE CHECK (sku <> ''), name TEXT NOT NULL DEFAULT 'unnamed', qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0), price NUMERIC(10,2) CHECK (price >= 0), added TIMESTAMPTZ DEFAULT now(), note TEXT CHECK (note <> 'x'));
CREATE INDEX items_name_idx ON items (name);
CREATE UNIQUE INDEX items_name_qty_idx ON items (name, qty);
CREATE TABLE plain (a INT, b BOOLEAN, c BYTEA, d DATE, e UUID, f JSONB);
