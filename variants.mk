# Generated from internal/groupspec by `go run ./cmd/variants make -w variants.mk`
# (or `make generate`); DO NOT EDIT. cmd/variants' tests fail when it is stale.
VARIANTS := lean hybrid prodapi full
VARIANT_TAGS_lean := nomsgpack,grpcnotrace
VARIANT_TAGS_hybrid := nomsgpack,grpcnotrace,llm
VARIANT_TAGS_prodapi := nomsgpack,grpcnotrace,vector,optional
VARIANT_TAGS_full := nomsgpack,grpcnotrace,ml,llm,vector,optional
BASE_TAGS := nomsgpack,grpcnotrace
