-- The webhook inbox (PostgreSQL) without its due-order index: bench/inbox/run adds each variant's indexes.
CREATE TABLE webhook_inbox (
  "Id" bigserial PRIMARY KEY, "DedupKey" varchar(300) NOT NULL, "EventType" varchar(100) NOT NULL, "ChannelId" varchar(64),
  "Payload" text NOT NULL, "ReceivedAt" timestamptz NOT NULL, "Status" varchar(16) NOT NULL, "Note" varchar(500),
  "Attempts" int NOT NULL, "NextAttemptAt" timestamptz NOT NULL, "ProcessedAt" timestamptz, "LeaseUntil" timestamptz,
  "LeaseOwner" varchar(64));
CREATE UNIQUE INDEX ON webhook_inbox ("DedupKey");
