public enum BennDataPlaceholder {}
