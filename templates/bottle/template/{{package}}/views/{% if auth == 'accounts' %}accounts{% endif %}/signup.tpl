% rebase('base.tpl', title='Sign up')
<h1>Sign up</h1>
<form method="post">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % include('accounts/_field.tpl', name='email', label='Email', type='email', value=email)
  % include('accounts/_field.tpl', name='password', label='Password', type='password')
  % include('accounts/_field.tpl', name='confirm', label='Confirm password', type='password')
  <button type="submit">Sign up</button>
</form>
<p>Have an account? <a href="/accounts/login">Sign in</a>.</p>
