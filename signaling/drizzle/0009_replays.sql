CREATE TYPE "signaling"."session_kind" AS ENUM('live', 'replay');--> statement-breakpoint
CREATE TABLE "signaling"."replay_watched" (
	"session_id" text NOT NULL,
	"seq" integer NOT NULL,
	CONSTRAINT "replay_watched_session_id_seq_pk" PRIMARY KEY("session_id","seq")
);
--> statement-breakpoint
CREATE TABLE "signaling"."replays" (
	"stream_id" text PRIMARY KEY NOT NULL,
	"creator" text NOT NULL,
	"title" text NOT NULL,
	"asset" text NOT NULL,
	"price_per_second" numeric(39, 0) NOT NULL,
	"live_price_per_second" numeric(39, 0) NOT NULL,
	"settle_every_seconds" integer NOT NULL,
	"pay_ahead" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "signaling"."viewer_sessions" ADD COLUMN "kind" "signaling"."session_kind" DEFAULT 'live' NOT NULL;--> statement-breakpoint
CREATE INDEX "replays_creator_idx" ON "signaling"."replays" USING btree ("creator");