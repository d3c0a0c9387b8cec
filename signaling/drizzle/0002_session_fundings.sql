CREATE TABLE "signaling"."session_fundings" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"wallet" text NOT NULL,
	"session_account" text NOT NULL,
	"asset" text NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"status" "signaling"."credit_status" DEFAULT 'pending' NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_fundings_amount_nonnegative" CHECK ("signaling"."session_fundings"."amount" >= 0)
);
--> statement-breakpoint
CREATE INDEX "session_fundings_session_idx" ON "signaling"."session_fundings" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "session_fundings_block_idx" ON "signaling"."session_fundings" USING btree ("block_hash");