// Package doccheck holds the tests that keep the repository's documents
// true where a claim can drift: every relative link of every .md file
// resolves inside the repository (and to an existing heading when it names
// one), no document points outside the repository, and claims taken from
// other files (the image's working directory) match them. It has no code;
// the generated parts of the documents are checked by their generators'
// tests (cmd/variants, cmd/settingsdoc).
package doccheck
