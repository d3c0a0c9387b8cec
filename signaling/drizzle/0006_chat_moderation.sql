CREATE TABLE "signaling"."chat_bans" (
	"creator" text NOT NULL,
	"wallet" text NOT NULL,
	"until" bigint,
	"by" text NOT NULL,
	"at" bigint NOT NULL,
	CONSTRAINT "chat_bans_creator_wallet_pk" PRIMARY KEY("creator","wallet")
);
--> statement-breakpoint
CREATE TABLE "signaling"."chat_mod_actions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"creator" text NOT NULL,
	"stream_id" text NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signaling"."chat_moderators" (
	"creator" text NOT NULL,
	"wallet" text NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chat_moderators_creator_wallet_pk" PRIMARY KEY("creator","wallet")
);
--> statement-breakpoint
ALTER TABLE "signaling"."chat_messages" ADD COLUMN "deleted_at" bigint;--> statement-breakpoint
ALTER TABLE "signaling"."chat_messages" ADD COLUMN "deleted_by" text;--> statement-breakpoint
CREATE INDEX "chat_mod_actions_creator_idx" ON "signaling"."chat_mod_actions" USING btree ("creator","id");