CREATE SCHEMA "signaling";
--> statement-breakpoint
CREATE TYPE "signaling"."credit_status" AS ENUM('pending', 'final');--> statement-breakpoint
CREATE TYPE "signaling"."session_status" AS ENUM('active', 'closed');--> statement-breakpoint
CREATE TABLE "signaling"."settlement_credits" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"status" "signaling"."credit_status" DEFAULT 'pending' NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "settlement_credits_amount_nonnegative" CHECK ("signaling"."settlement_credits"."amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "signaling"."viewer_sessions" (
	"session_id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"wallet" text NOT NULL,
	"session_account" text NOT NULL,
	"creator" text NOT NULL,
	"asset" text NOT NULL,
	"price_per_second" numeric(39, 0) NOT NULL,
	"budget" numeric(39, 0) NOT NULL,
	"status" "signaling"."session_status" DEFAULT 'active' NOT NULL,
	"watched_seconds" bigint DEFAULT 0 NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"owed" numeric(39, 0) DEFAULT 0 NOT NULL,
	"acknowledged" numeric(39, 0) DEFAULT 0 NOT NULL,
	"acknowledged_seq" bigint DEFAULT 0 NOT NULL,
	"settled_pending" numeric(39, 0) DEFAULT 0 NOT NULL,
	"settled_final" numeric(39, 0) DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "viewer_sessions_owed_exact" CHECK ("signaling"."viewer_sessions"."owed" = "signaling"."viewer_sessions"."watched_seconds" * "signaling"."viewer_sessions"."price_per_second"),
	CONSTRAINT "viewer_sessions_acknowledged_bounded" CHECK ("signaling"."viewer_sessions"."acknowledged" >= 0 and "signaling"."viewer_sessions"."acknowledged" <= "signaling"."viewer_sessions"."owed"),
	CONSTRAINT "viewer_sessions_amounts_nonnegative" CHECK ("signaling"."viewer_sessions"."price_per_second" >= 0 and "signaling"."viewer_sessions"."budget" >= 0),
	CONSTRAINT "viewer_sessions_settled_nonnegative" CHECK ("signaling"."viewer_sessions"."settled_pending" >= 0 and "signaling"."viewer_sessions"."settled_final" >= 0)
);
--> statement-breakpoint
CREATE TABLE "signaling"."watcher_cursor" (
	"id" text PRIMARY KEY NOT NULL,
	"genesis_hash" text NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "signaling"."settlement_credits" ADD CONSTRAINT "settlement_credits_session_id_viewer_sessions_session_id_fk" FOREIGN KEY ("session_id") REFERENCES "signaling"."viewer_sessions"("session_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "settlement_credits_session_idx" ON "signaling"."settlement_credits" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "settlement_credits_block_idx" ON "signaling"."settlement_credits" USING btree ("block_hash");--> statement-breakpoint
CREATE INDEX "viewer_sessions_wallet_idx" ON "signaling"."viewer_sessions" USING btree ("wallet");--> statement-breakpoint
CREATE INDEX "viewer_sessions_stream_idx" ON "signaling"."viewer_sessions" USING btree ("stream_id");