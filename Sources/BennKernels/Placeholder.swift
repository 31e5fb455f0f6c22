public enum BennKernelsPlaceholder {}
