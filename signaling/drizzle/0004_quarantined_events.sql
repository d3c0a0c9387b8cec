CREATE TABLE "signaling"."quarantined_events" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"session_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"error" text NOT NULL,
	"status" "signaling"."credit_status" DEFAULT 'pending' NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "quarantined_events_session_idx" ON "signaling"."quarantined_events" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "quarantined_events_block_idx" ON "signaling"."quarantined_events" USING btree ("block_hash");