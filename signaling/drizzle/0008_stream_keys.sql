CREATE TABLE "signaling"."stream_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"creator" text NOT NULL,
	"stream_id" text,
	"secret_hash" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rotated_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "stream_keys_creator_idx" ON "signaling"."stream_keys" USING btree ("creator") WHERE "signaling"."stream_keys"."revoked_at" is null;