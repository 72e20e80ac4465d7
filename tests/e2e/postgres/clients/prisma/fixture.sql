CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE, name TEXT, score NUMERIC(10,2) DEFAULT 0, created TIMESTAMPTZ NOT NULL DEFAULT now(), CHECK (score >= 0));
CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, author_id INT NOT NULL, title VARCHAR(100) NOT NULL, body TEXT, published BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX posts_title_idx ON posts (title);
CREATE UNIQUE INDEX posts_author_title ON posts (author_id, title);
CREATE TABLE pairs (a INT, b INT, note TEXT, PRIMARY KEY (a, b));
CREATE SEQUENCE counter START 5 INCREMENT 2;
CREATE TABLE ranges (lo INT, hi INT, tag TEXT, CHECK (lo < hi), CHECK (lo >= 0 AND tag IS NOT NULL), CHECK (hi < 100));
