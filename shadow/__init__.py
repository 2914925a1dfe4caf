"""Shadow-mode validation: run every call on two implementations, keep one, log the differences.

Generic: nothing here knows what the implementations compute. A target (a module that
registers ops, comparison policies, input codecs and fuzz strategies) supplies that.
"""
