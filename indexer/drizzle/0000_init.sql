CREATE TYPE "public"."row_status" AS ENUM('pending', 'final');--> statement-breakpoint
CREATE TYPE "public"."session_event_kind" AS ENUM('fund', 'refund');--> statement-breakpoint
CREATE TABLE "blocks" (
	"number" bigint PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"parent_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"status" "row_status" DEFAULT 'pending' NOT NULL,
	CONSTRAINT "blocks_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "cursor" (
	"id" text PRIMARY KEY NOT NULL,
	"height" bigint NOT NULL,
	"hash" text NOT NULL,
	"finalized_height" bigint NOT NULL,
	"finalized_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "session_event_kind" NOT NULL,
	"session_id" text NOT NULL,
	"wallet" text NOT NULL,
	"session_account" text NOT NULL,
	"asset" text NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"extrinsic_index" integer NOT NULL,
	"event_index" integer NOT NULL,
	"extrinsic_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"status" "row_status" DEFAULT 'pending' NOT NULL,
	CONSTRAINT "sessions_amount_nonnegative" CHECK ("sessions"."amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "settlements" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"session_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"payer" text NOT NULL,
	"creator" text NOT NULL,
	"asset" text NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"extrinsic_index" integer NOT NULL,
	"event_index" integer NOT NULL,
	"extrinsic_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"status" "row_status" DEFAULT 'pending' NOT NULL,
	CONSTRAINT "settlements_amount_nonnegative" CHECK ("settlements"."amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "stream_metadata" (
	"cid" text PRIMARY KEY NOT NULL,
	"metadata" jsonb,
	"title" text,
	"creator" text,
	"price_per_second" numeric(39, 0),
	"asset" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"fetched_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "streams" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"creator" text NOT NULL,
	"metadata_cid" text NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"extrinsic_index" integer NOT NULL,
	"event_index" integer NOT NULL,
	"extrinsic_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"status" "row_status" DEFAULT 'pending' NOT NULL,
	CONSTRAINT "streams_stream_id_unique" UNIQUE("stream_id")
);
--> statement-breakpoint
CREATE INDEX "blocks_status_idx" ON "blocks" USING btree ("status","number");--> statement-breakpoint
CREATE INDEX "sessions_session_idx" ON "sessions" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "sessions_account_idx" ON "sessions" USING btree ("session_account");--> statement-breakpoint
CREATE INDEX "sessions_wallet_idx" ON "sessions" USING btree ("wallet");--> statement-breakpoint
CREATE INDEX "sessions_block_idx" ON "sessions" USING btree ("block_number");--> statement-breakpoint
CREATE INDEX "settlements_creator_time_idx" ON "settlements" USING btree ("creator","block_time");--> statement-breakpoint
CREATE INDEX "settlements_stream_time_idx" ON "settlements" USING btree ("stream_id","block_time");--> statement-breakpoint
CREATE INDEX "settlements_session_idx" ON "settlements" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "settlements_block_idx" ON "settlements" USING btree ("block_number");--> statement-breakpoint
CREATE INDEX "streams_creator_idx" ON "streams" USING btree ("creator");--> statement-breakpoint
CREATE INDEX "streams_cid_idx" ON "streams" USING btree ("metadata_cid");--> statement-breakpoint
CREATE INDEX "streams_block_idx" ON "streams" USING btree ("block_number");