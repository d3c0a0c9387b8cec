CREATE TABLE "tips" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"message_id" text NOT NULL,
	"tipper" text NOT NULL,
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
	CONSTRAINT "tips_amount_positive" CHECK ("tips"."amount" > 0)
);
--> statement-breakpoint
CREATE INDEX "tips_creator_time_idx" ON "tips" USING btree ("creator","block_time");--> statement-breakpoint
CREATE INDEX "tips_stream_time_idx" ON "tips" USING btree ("stream_id","block_time");--> statement-breakpoint
CREATE INDEX "tips_block_idx" ON "tips" USING btree ("block_number");