# Builds the fuzz targets, seedgen and genkeys with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer. t/fuzz/run calls it as
#
#     make -f t/fuzz/build.mk TOP=<source tree> BUILD=<build directory>
#
# The module's sources are the PURE_SRC list of Makefile.am, read from
# there so that the two lists cannot drift apart.

TOP ?= .
BUILD ?= $(TOP)/run/fuzz
CC = clang

PKGS = apr-1 apr-util-1 libcurl openssl jansson cjose
FUZZ_SANITIZE = -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
# seedgen and genkeys have their own main, so they link without libFuzzer.
# The coverage hooks in the instrumented objects then resolve to the
# sanitizer runtime's default definitions.
TOOL_SANITIZE = -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined
CFLAGS = -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter
CPPFLAGS = -I$(TOP)/include -I$(TOP)/t/fuzz \
	$(shell pkg-config --cflags $(PKGS))
LIBS = $(shell pkg-config --libs $(PKGS)) -ldl

PURE_SRC := $(shell sed -n '/^PURE_SRC = /,/^$$/p' $(TOP)/Makefile.am \
	| tr -d '\\' | sed 's/^PURE_SRC =//')
ifeq ($(strip $(PURE_SRC)),)
$(error PURE_SRC not found in $(TOP)/Makefile.am)
endif
PURE_OBJ = $(patsubst src/%.c,$(BUILD)/obj/src/%.o,$(PURE_SRC))

TARGETS = fuzz_idtoken fuzz_jwks fuzz_tenant_info fuzz_cookie
TARGET_SUPPORT = $(BUILD)/obj/fuzz_support.o $(BUILD)/obj/fuzz_sign.o

all: $(addprefix $(BUILD)/bin/,$(TARGETS))

tools: $(BUILD)/bin/seedgen $(BUILD)/bin/genkeys

$(BUILD)/obj/src/%.o: $(TOP)/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_SANITIZE) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: $(TOP)/t/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_SANITIZE) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bin/fuzz_%: $(BUILD)/obj/fuzz_%.o $(TARGET_SUPPORT) $(PURE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_SANITIZE) -o $@ $^ $(LIBS)

$(BUILD)/bin/seedgen: $(BUILD)/obj/seedgen.o $(BUILD)/obj/fuzz_sign.o \
		$(PURE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_SANITIZE) -o $@ $^ $(LIBS)

$(BUILD)/bin/genkeys: $(BUILD)/obj/genkeys.o $(PURE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_SANITIZE) -o $@ $^ $(LIBS)

.PRECIOUS: $(BUILD)/obj/%.o $(BUILD)/obj/src/%.o
.PHONY: all tools

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
