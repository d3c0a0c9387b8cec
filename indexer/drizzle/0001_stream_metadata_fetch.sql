CREATE TYPE "public"."metadata_state" AS ENUM('fetched', 'invalid', 'unavailable');--> statement-breakpoint
ALTER TABLE "stream_metadata" ADD COLUMN "state" "metadata_state" NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_metadata" ADD COLUMN "error_code" text;--> statement-breakpoint
ALTER TABLE "stream_metadata" ADD COLUMN "last_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "stream_metadata" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "stream_metadata_retry_idx" ON "stream_metadata" USING btree ("state","next_attempt_at");