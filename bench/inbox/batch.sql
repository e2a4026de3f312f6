-- One pass of the webhook path per transaction, as the service runs it for 100 events: store them, claim them
-- (candidates, then the conditional lease update), mark them processed, and read the backlog's age.
INSERT INTO webhook_inbox ("DedupKey","EventType","ChannelId","Payload","ReceivedAt","Status","Attempts","NextAttemptAt")
SELECT 'k-'||g||'-'||random(), 'message.new', 'appointment-bench-0000001', repeat('x', 700), now(), 'pending', 0, now() FROM generate_series(1,100) g;
SELECT max("Id") AS maxid FROM webhook_inbox \gset
SELECT "Id" FROM webhook_inbox WHERE "Status"='pending' AND "NextAttemptAt" <= now() AND ("LeaseUntil" IS NULL OR "LeaseUntil" < now()) ORDER BY "NextAttemptAt" LIMIT 100;
UPDATE webhook_inbox SET "LeaseUntil" = now() + interval '1 minute', "LeaseOwner" = 'me' WHERE "Status"='pending' AND "NextAttemptAt" <= now() AND ("LeaseUntil" IS NULL OR "LeaseUntil" < now()) AND "Id" = ANY (ARRAY(SELECT generate_series(:maxid - 99, :maxid)));
UPDATE webhook_inbox SET "Status"='processed', "ProcessedAt"=now(), "Attempts"="Attempts"+1, "LeaseUntil"=NULL, "LeaseOwner"=NULL WHERE "Id" = ANY (ARRAY(SELECT generate_series(:maxid - 99, :maxid)));
SELECT min("ReceivedAt") FROM webhook_inbox WHERE "Status"='pending';
