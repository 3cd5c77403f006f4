% rebase('base.tpl', title='Sign out')
<h1>Sign out</h1>
<form method="post">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit">Sign out</button>
</form>
