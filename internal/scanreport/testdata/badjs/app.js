// Deliberately bad code: ESLint runs over it to produce a real SARIF
// report for the intake tests. Never use it.
function render(user) {
  var unused = 1;
  document.getElementById("out").innerHTML = "<b>" + user.name + "</b>";
  eval("console.log(" + user.id + ")");
  if (user.admin == true) {
    return new Function("return " + user.expr)();
  }
  with (user) {
    return name;
  }
}
