-- Every file in the artifact store, recorded after the store committed it: the size and the
-- SHA-256 computed while it streamed in. Paths are relative to the store's root and already
-- validated (no '..', no '//', no '%'). Listing a directory's manifest is a range scan on the
-- primary key: path >= 'dir/' AND path < 'dir0' ('0' follows '/'), in byte order.
CREATE TABLE artifact_files (
    path      TEXT NOT NULL PRIMARY KEY,
    size      BIGINT NOT NULL,
    -- lowercase hex, 64 characters
    sha256    TEXT NOT NULL,
    -- epoch milliseconds
    stored_at BIGINT NOT NULL
);
