CREATE TABLE "signaling"."chat_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"sender" text NOT NULL,
	"display_name" text,
	"badges" text[] DEFAULT '{}'::text[] NOT NULL,
	"text" text NOT NULL,
	"sent_at" bigint NOT NULL,
	"media_time" double precision,
	"client_id" text,
	"tip_asset" text,
	"tip_amount" numeric(39, 0),
	"tip_tx" text,
	"tip_status" text
);
--> statement-breakpoint
CREATE TABLE "signaling"."chat_settings" (
	"stream_id" text PRIMARY KEY NOT NULL,
	"slow_mode_seconds" integer DEFAULT 0 NOT NULL,
	"paying_only" boolean DEFAULT false NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chat_messages_stream_id_idx" ON "signaling"."chat_messages" USING btree ("stream_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_messages_client_id_idx" ON "signaling"."chat_messages" USING btree ("stream_id","sender","client_id") WHERE "signaling"."chat_messages"."client_id" is not null;