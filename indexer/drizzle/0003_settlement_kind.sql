CREATE TYPE "public"."settlement_kind" AS ENUM('live', 'replay');--> statement-breakpoint
ALTER TABLE "settlements" ADD COLUMN "kind" "settlement_kind" DEFAULT 'live' NOT NULL;