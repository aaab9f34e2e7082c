terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      app         = var.name
      environment = var.environment
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  prefix     = "${var.name}-${var.environment}"
  # Must equal AWS_KMS_ALIAS_PREFIX and keys.aws.SERVICE_TAG of the application.
  firm_key_alias_prefix = "alias/${var.name}/"
  firm_key_tag_value    = var.name
}
