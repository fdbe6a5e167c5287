# Included after a kselftest Makefile: `make -f Makefile -f print-var.mk print-VAR`
# prints the value of VAR as lib.mk computed it.
print-%:
	@echo $($*)
