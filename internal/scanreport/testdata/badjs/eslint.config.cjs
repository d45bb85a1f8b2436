// The configuration the intake test report was made with.
module.exports = [
  {
    files: ["**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { document: "readonly", console: "readonly" } },
    rules: { "no-eval": "error", "no-implied-eval": "error", "no-new-func": "error", "no-unused-vars": "warn", "eqeqeq": "warn", "no-with": "error" },
  },
];
